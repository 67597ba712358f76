import { handle } from "./api.ts";

const port = Number(process.env.PORT) || 3000;
const server = Bun.serve({ port, hostname: process.env.HOST ?? "0.0.0.0", fetch: handle });

console.log(`API listening on ${server.url}`);
