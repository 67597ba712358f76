/** HTML for the app. Every interpolated value is escaped unless it is already `Html` made here. */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function part(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(part).join("");
  if (value === null || value === undefined || value === false) return "";
  return escape(String(value));
}

/** A template tag: html`<p>${text}</p>` escapes `text`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += part(v) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

export type Todo = { id: number; text: string; done: boolean };

export function todoItem(todo: Todo): Html {
  return html`<li id="todo-${todo.id}" class="${todo.done ? "done" : ""}">
    <form method="post" action="/todos/${todo.id}/toggle" hx-post="/todos/${todo.id}/toggle" hx-target="#todo-${todo.id}" hx-swap="outerHTML">
      <button type="submit" class="check" aria-label="${todo.done ? "Mark as not done" : "Mark as done"}: ${todo.text}">${todo.done ? "✓" : ""}</button>
    </form>
    <span>${todo.text}</span>
    <form method="post" action="/todos/${todo.id}/delete" hx-post="/todos/${todo.id}/delete" hx-target="#todo-${todo.id}" hx-swap="outerHTML">
      <button type="submit" class="link" aria-label="Delete ${todo.text}">Delete</button>
    </form>
  </li>`;
}

/** What the add form shows: an error beside the field, and the text the user typed. */
export type FormState = { error?: string; value?: string; focus?: boolean };

/** The form and the list: what an add (with or without an error) replaces. */
export function todoApp(todos: Todo[], form: FormState = {}): Html {
  return html`<section id="app">
    <form method="post" action="/todos" hx-post="/todos" hx-target="#app" hx-swap="outerHTML">
      <label for="text">New item</label>
      <div class="row">
        <input id="text" name="text" value="${form.value ?? ""}" required maxlength="200" autocomplete="off"
          aria-invalid="${form.error ? "true" : "false"}" aria-describedby="text-error" ${form.focus ? html`autofocus` : ""} />
        <button type="submit">Add</button>
      </div>
      <p id="text-error" class="error" role="alert">${form.error ?? ""}</p>
    </form>
    <ul id="todos">${todos.map(todoItem)}</ul>
    ${todos.length === 0 ? html`<p class="muted">Nothing to do.</p>` : ""}
  </section>`;
}

/**
 * The whole page. The htmx-config meta tag lets htmx swap 422 answers (a form with its error)
 * like 2xx ones; htmx is loaded from this app, never from a CDN.
 */
export function page(todos: Todo[], form: FormState = {}): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="htmx-config" content='{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true}]}' />
    <title>To do</title>
    <link rel="stylesheet" href="/public/style.css" />
    <script src="/public/vendor/htmx-2.0.11.min.js" defer></script>
  </head>
  <body>
    <main>
      <h1>To do</h1>
      ${todoApp(todos, form)}
    </main>
  </body>
</html>`;
}
