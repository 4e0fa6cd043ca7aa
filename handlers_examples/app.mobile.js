console.log("mobile bundle");
