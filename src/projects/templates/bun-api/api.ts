/** The API: a list of notes kept in memory, served as JSON. */

export type Note = { id: number; text: string; createdAt: string };

const MAX_BODY_BYTES = 16 * 1024;
const MAX_TEXT = 500;

const notes = new Map<number, Note>();
let nextId = 1;

function json(data: unknown, status = 200): Response {
  return Response.json(data, { status });
}

function error(status: number, message: string): Response {
  return json({ error: message }, status);
}

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new HttpError(413, "The request body is too large.");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "The request body must be JSON.");
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function noteId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1) throw new HttpError(404, "No such note.");
  return id;
}

async function createNote(req: Request): Promise<Response> {
  const body = await readJson(req);
  const text = typeof body === "object" && body !== null && "text" in body ? body.text : undefined;
  if (typeof text !== "string" || text.trim() === "") throw new HttpError(400, 'Send {"text": "…"} with some text.');
  if (text.length > MAX_TEXT) throw new HttpError(400, `A note is at most ${MAX_TEXT} characters.`);
  const note: Note = { id: nextId++, text: text.trim(), createdAt: new Date().toISOString() };
  notes.set(note.id, note);
  return json(note, 201);
}

/** Handles one request. Exported so tests (and other servers) can use it directly. */
export async function handle(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  const method = req.method;
  try {
    if (pathname === "/health") return json({ status: "ok" });
    if (pathname === "/" && method === "GET") {
      // A map of the API for whoever opens the address in a browser or with curl.
      return json({ name: "Notes API", endpoints: ["GET /health", "GET /notes", "POST /notes", "GET /notes/:id", "DELETE /notes/:id"] });
    }

    if (pathname === "/notes") {
      if (method === "GET") return json([...notes.values()].reverse());
      if (method === "POST") return await createNote(req);
      return error(405, "Use GET or POST.");
    }

    const match = /^\/notes\/([^/]+)$/.exec(pathname);
    if (match?.[1] !== undefined) {
      const id = noteId(match[1]);
      const note = notes.get(id);
      if (!note) return error(404, "No such note.");
      if (method === "GET") return json(note);
      if (method === "DELETE") {
        notes.delete(id);
        return new Response(null, { status: 204 });
      }
      return error(405, "Use GET or DELETE.");
    }

    return error(404, "Not found.");
  } catch (e) {
    if (e instanceof HttpError) return error(e.status, e.message);
    console.error(e);
    return error(500, "Something went wrong.");
  }
}
