// A Workers-style Hono app: fazt calls its fetch(request, env, ctx) for /api and every /api/* path.
import { Hono } from "hono";

const app = new Hono().basePath("/api");
app.get("/hello", (c) => c.json({ hello: "world" }));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.post("/echo", async (c) => c.json(await c.req.json()));
app.get("/greeting", (c) => c.text(c.env.GREETING ?? "hi"));

export default app;
