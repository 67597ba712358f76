/** The web app: server-rendered pages, htmx fragments for the interactive bits, static files from public/. */
import { join, normalize } from "node:path";
import { page, todoApp, todoItem, type Todo } from "./views.ts";

const PUBLIC_DIR = join(import.meta.dir, "public");
const MAX_TEXT = 200;

const todos: Todo[] = [{ id: 1, text: "Try adding an item", done: false }];
let nextId = 2;

function htmlResponse(body: { toString(): string }, status = 200): Response {
  return new Response(body.toString(), { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

/** Without htmx, a form post is answered with a redirect back to the page (post/redirect/get). */
function backToPage(): Response {
  return new Response(null, { status: 303, headers: { location: "/" } });
}

const notFound = () => new Response("Not found", { status: 404 });

async function staticFile(pathname: string): Promise<Response> {
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(pathname.slice("/public/".length)));
  } catch {
    return notFound();
  }
  if (rel.startsWith("..") || rel.startsWith("/") || rel.includes("\0")) return notFound();
  const file = Bun.file(join(PUBLIC_DIR, rel));
  return (await file.exists()) ? new Response(file) : notFound();
}

async function addTodo(req: Request, isHtmx: boolean): Promise<Response> {
  const text = String((await req.formData()).get("text") ?? "").trim();
  const error = text === "" ? "Write something first." : text.length > MAX_TEXT ? `At most ${MAX_TEXT} characters.` : undefined;
  if (error) {
    const form = { error, value: text, focus: true };
    return htmlResponse(isHtmx ? todoApp(todos, form) : page(todos, form), 422);
  }
  todos.push({ id: nextId++, text, done: false });
  return isHtmx ? htmlResponse(todoApp(todos, { focus: true })) : backToPage();
}

/** Handles one request. Exported so the tests can call it through a server on a free port. */
export async function handle(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  const isHtmx = req.headers.get("hx-request") === "true";
  if (req.method === "GET" && pathname === "/") return htmlResponse(page(todos));
  if (req.method === "GET" && pathname.startsWith("/public/")) return staticFile(pathname);
  if (req.method === "POST" && pathname === "/todos") return addTodo(req, isHtmx);

  const action = /^\/todos\/(\d+)\/(toggle|delete)$/.exec(pathname);
  if (req.method === "POST" && action) {
    const index = todos.findIndex((t) => t.id === Number(action[1]));
    const todo = todos[index];
    if (!todo) return notFound();
    if (action[2] === "delete") {
      todos.splice(index, 1);
      return isHtmx ? htmlResponse("") : backToPage();
    }
    todo.done = !todo.done;
    return isHtmx ? htmlResponse(todoItem(todo)) : backToPage();
  }
  return notFound();
}

if (import.meta.main) {
  const server = Bun.serve({ port: Number(process.env.PORT) || 3000, hostname: process.env.HOST ?? "0.0.0.0", fetch: handle });
  console.log(`Listening on ${server.url}`);
}
