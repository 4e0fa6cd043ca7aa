console.log("desktop bundle");
