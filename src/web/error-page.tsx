/** A plain error page: status and message, never a stack trace. */
import { ANONYMOUS } from "../auth/actor.ts";
import { doc, Layout } from "./layout.tsx";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Please log in",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Too large",
  422: "Check your input",
  429: "Slow down",
  500: "Something went wrong",
};

export function errorPage(status: number, message: string): string {
  const title = TITLES[status] ?? "Error";
  return doc(
    <Layout title={title} actor={ANONYMOUS}>
      <section class="card narrow">
        <h1>{title}</h1>
        <p>{message}</p>
        <p>
          <a href="/">Back to the dashboard</a>
        </p>
      </section>
    </Layout>,
  );
}
