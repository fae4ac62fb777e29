// fazt style: this whole file runs for every request; req, res and db are globals.
if (req.path === "/count") {
  res.json({ count: db.get("count") || 0 });
} else if (req.path === "/reset" && req.method === "POST") {
  db.set("count", 0);
  res.json({ count: 0 });
} else if (req.path === "/") {
  const count = db.incr("count", 1);
  res.header("Content-Type", "text/html; charset=utf-8")
    .send(`<!doctype html><title>Counter</title><h1>Visits: <span id="count">${count}</span></h1>`);
} else {
  res.status(404).send("Not found");
}
