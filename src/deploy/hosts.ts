/**
 * Where a project's app is served: `<project-slug>-<owner>.<apps domain>`, plus the custom
 * domains an admin has verified for it. Slugs and handles are already URL-safe; this makes the
 * pair a valid DNS label (lowercase letters, digits and inner hyphens, at most 63 characters).
 */
import type { DeployConfig } from "../config.ts";

export function appLabel(slug: string, owner: string): string {
  const label = `${slug}-${owner}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  // Over-long pairs keep their start and gain a short hash of the whole, so two long names never collide.
  if (label.length <= 63) return label || "app";
  const hash = Bun.hash(label).toString(36).slice(0, 8);
  return `${label.slice(0, 54).replace(/-+$/, "")}-${hash}`;
}

export function appHost(config: DeployConfig, slug: string, owner: string): string {
  return `${appLabel(slug, owner)}.${config.appsDomain}`;
}

/** The URL people open: https unless TLS is off; the port only when it is not the scheme's default. */
export function appUrl(config: DeployConfig, host: string): string {
  const secure = config.tls !== "off";
  const port = secure ? config.appsHttpsPort : config.appsHttpPort;
  const shown = (secure && port === 443) || (!secure && port === 80) ? "" : `:${port}`;
  return `${secure ? "https" : "http"}://${host}${shown}`;
}
