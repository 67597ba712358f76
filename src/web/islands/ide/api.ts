/**
 * The JSON API calls the IDE makes: the file tree and file writes (src/projects/api-routes.ts),
 * a file's collaborative document id (src/collab routes), the latest saved version
 * (src/projects/versions-routes.ts). Cookie-authenticated writes carry the page's CSRF token.
 */

export type TreeNode = { name: string; path: string; type: "file" | "dir"; size?: number; children?: TreeNode[] };
export type DocInfo = { path: string; docId: string; size: number; language: string };
export type Version = { id: string; shortId: string; message: string; at: string; author: { name: string } };

/** A failed call: the HTTP status (0 when the network failed) and the server's message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Encodes each segment of a project path for a URL (slashes stay). */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export class Api {
  private readonly base: string;

  constructor(
    readonly projectId: string,
    private readonly csrf: string | undefined,
  ) {
    this.base = `/api/v1/projects/${encodeURIComponent(projectId)}`;
  }

  private async call(method: string, url: string, body?: BodyInit, type?: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method !== "GET" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    if (type) headers["Content-Type"] = type;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, credentials: "same-origin" });
    } catch {
      throw new ApiFailure(0, navigator.onLine ? "The server could not be reached." : "You are offline.");
    }
    if (!res.ok) throw new ApiFailure(res.status, await errorMessage(res));
    return res;
  }

  async tree(): Promise<TreeNode[]> {
    return (await (await this.call("GET", `${this.base}/files`)).json()) as TreeNode[];
  }

  async docInfo(path: string): Promise<DocInfo> {
    return (await (await this.call("GET", `${this.base}/docs/${encodePath(path)}`)).json()) as DocInfo;
  }

  /** Creates or replaces a file with these bytes. */
  async write(path: string, body: Blob | string): Promise<void> {
    await this.call("PUT", `${this.base}/files/${encodePath(path)}`, body, "application/octet-stream");
  }

  async remove(path: string): Promise<void> {
    await this.call("DELETE", `${this.base}/files/${encodePath(path)}`);
  }

  async move(from: string, to: string): Promise<{ path: string; type: "file" | "dir" }> {
    const res = await this.call("POST", `${this.base}/files/${encodePath(from)}:move`, JSON.stringify({ to }), "application/json");
    return (await res.json()) as { path: string; type: "file" | "dir" };
  }

  async latestVersion(): Promise<Version | null> {
    const list = (await (await this.call("GET", `${this.base}/versions?limit=1`)).json()) as Version[];
    return list[0] ?? null;
  }

  /** URL of a file's bytes (a download for binary files). */
  rawUrl(path: string): string {
    return `${this.base}/files/${encodePath(path)}`;
  }
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: fall through to the status text
  }
  return `${res.status} ${res.statusText || "error"}`;
}

/** All file paths of a tree, depth first. */
export function filePaths(nodes: TreeNode[], out: string[] = []): string[] {
  for (const n of nodes) {
    if (n.type === "file") out.push(n.path);
    else if (n.children) filePaths(n.children, out);
  }
  return out;
}

export function findNode(nodes: TreeNode[], path: string): TreeNode | undefined {
  let level: TreeNode[] | undefined = nodes;
  let found: TreeNode | undefined;
  for (const name of path.split("/")) {
    found = level?.find((n) => n.name === name);
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}

export const parentOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
export const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1);
export const joinPath = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
