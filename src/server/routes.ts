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
import { importApiRoutes, importGitApiRoutes, importGitPageRoutes } from "../projects/import-routes.ts";
import { teamApiRoutes } from "../teams/api-routes.ts";
import { versionApiRoutes } from "../projects/versions-routes.ts";
import { gitHttpRoutes } from "../projects/git-http-routes.ts";
import { authPageRoutes } from "../auth/pages.tsx";
import { signupPageRoutes } from "../auth/pages-signup.tsx";
import { resetPageRoutes } from "../auth/pages-reset.tsx";
import { accountPageRoutes } from "../account/pages.tsx";
import { adminPageRoutes } from "../admin/pages.tsx";
import { dashboardRoutes } from "../web/pages/dashboard.tsx";
import { projectPageRoutes } from "../projects/pages.tsx";
import { teamPageRoutes } from "../teams/pages.tsx";
import { historyPageRoutes } from "../projects/pages-history.tsx";
import { forkPageRoutes } from "../projects/pages-fork.tsx";
import { editPageRoutes } from "../projects/pages-edit.tsx";
import { ideRoutes } from "../projects/pages-ide.tsx";
import { forkApiRoutes, templateApiRoutes } from "../projects/template-routes.ts";
import { envApiRoutes, envPageRoutes } from "../projects/env-routes.ts";
import { starApiRoutes, starPageRoutes } from "../projects/stars-routes.ts";
import { exploreRoutes } from "../web/pages/explore.tsx";
import { profilePageRoutes } from "../web/pages/profile.tsx";
import { collabRoutes } from "../collab/routes.ts";
import { searchApiRoutes } from "../search/api-routes.ts";
import { searchAdminRoutes } from "../admin/pages-search.tsx";
import { searchPageRoutes } from "../search/pages-search.tsx";
import { embedderAdminRoutes } from "../search/pages-embedder.tsx";
import { deployApiRoutes } from "../deploy/api-routes.ts";
import { deployPageRoutes } from "../deploy/pages-deploy.tsx";
import { aiAdminPageRoutes } from "../admin/pages-ai.tsx";
import { aiAdminApiRoutes } from "../ai/admin-api-routes.ts";
import { promptApiRoutes } from "../ai/prompt-routes.ts";
import { promptPageRoutes } from "../ai/pages-prompts.tsx";
import { aiActionApiRoutes } from "../ai/actions-routes.ts";
import { aiApiRoutes } from "../ai/api-routes.ts";
import { aiChatApiRoutes } from "../ai/chat-routes.ts";
import { aiChatPageRoutes } from "../ai/pages-chat.tsx";
import { aiActionPageRoutes } from "../ai/pages-actions.tsx";
import { deployAdminRoutes, projectDomainRoutes } from "../admin/pages-deploy.tsx";

export const allRoutes: RouteDef[] = [];
allRoutes.push(
  ...systemRoutes,
  ...docsRoutes(() => allRoutes),
  // JSON API
  ...accountApiRoutes,
  ...userAdminApiRoutes,
  ...projectApiRoutes,
  ...importApiRoutes,
  ...importGitApiRoutes,
  ...templateApiRoutes,
  ...forkApiRoutes,
  ...teamApiRoutes,
  ...envApiRoutes,
  ...starApiRoutes,
  ...versionApiRoutes,
  ...searchApiRoutes,
  ...deployApiRoutes,
  ...aiAdminApiRoutes,
  ...promptApiRoutes,
  ...aiActionApiRoutes,
  ...aiApiRoutes,
  ...aiChatApiRoutes,
  // git clone / push over HTTP
  ...gitHttpRoutes,
  // Collaborative editing: y-websocket sockets and document ids
  ...collabRoutes,
  // Pages: sign-in, account, admin
  ...authPageRoutes,
  ...signupPageRoutes,
  ...resetPageRoutes,
  ...accountPageRoutes,
  ...adminPageRoutes,
  ...searchAdminRoutes,
  ...embedderAdminRoutes,
  ...deployAdminRoutes,
  ...aiAdminPageRoutes,
  // Pages: dashboard, projects, teams
  ...dashboardRoutes,
  ...projectPageRoutes,
  ...editPageRoutes,
  ...ideRoutes,
  ...deployPageRoutes,
  ...promptPageRoutes,
  ...aiActionPageRoutes,
  ...aiChatPageRoutes,
  ...searchPageRoutes,
  ...historyPageRoutes,
  ...forkPageRoutes,
  ...envPageRoutes,
  ...projectDomainRoutes,
  ...starPageRoutes,
  ...teamPageRoutes,
  // Pages (and the explore JSON twin): explore, profiles
  ...importGitPageRoutes,
  ...exploreRoutes,
  ...profilePageRoutes,
);
