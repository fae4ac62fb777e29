import { greet } from "./_lib/greet.js";

// GET /api/hello?name=Ada -> {"message": "Hello, Ada!"}
export function GET(request) {
  const name = new URL(request.url).searchParams.get("name");
  return Response.json({ message: greet(name) });
}
