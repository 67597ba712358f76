/**
 * The one route table: every route of Wove, each with its declared permission.
 * Read it top to bottom to audit who may call what; the authorization-matrix
 * test walks this same list.
 */
import type { RouteDef } from "./guard.ts";
import { systemRoutes } from "./system-routes.ts";
import { docsRoutes } from "./docs-routes.tsx";
import { accountApiRoutes, userAdminApiRoutes } from "../auth/api-routes.ts";
import { projectApiRoutes } from "../projects/api-routes.ts";
import { teamApiRoutes } from "../teams/api-routes.ts";

export const allRoutes: RouteDef[] = [];
allRoutes.push(
  ...systemRoutes,
  ...docsRoutes(() => allRoutes),
  // JSON API
  ...accountApiRoutes,
  ...userAdminApiRoutes,
  ...projectApiRoutes,
  ...teamApiRoutes,
);
