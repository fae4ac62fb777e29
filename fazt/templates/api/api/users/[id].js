// /api/users/ID: ctx.params.id is the ID; users are kept in the site's KV store (db).
export function GET(request, ctx) {
  const user = db.get(`user:${ctx.params.id}`);
  if (user == null) return Response.json({ error: "no such user" }, { status: 404 });
  return Response.json({ id: ctx.params.id, ...user });
}

export async function PUT(request, ctx) {
  const body = await request.json();
  db.set(`user:${ctx.params.id}`, { name: String(body.name ?? "") });
  return Response.json({ id: ctx.params.id, name: String(body.name ?? "") }, { status: 201 });
}
