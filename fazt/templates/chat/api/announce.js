// POST /api/announce: send the body to every client of the site's /ws.
export async function POST(request) {
  const text = (await request.text()).trim();
  if (!text) return Response.json({ error: "send some text" }, { status: 400 });
  return Response.json({ sent: socket.broadcast(text) });
}

// GET /api/announce: how many clients are connected.
export function GET() {
  return Response.json({ online: socket.clients() });
}
