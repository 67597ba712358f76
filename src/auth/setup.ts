/**
 * First run: while no admin exists, `wove serve` prints a one-time setup URL.
 * The token lives only in the serving process (a new one each start) and is
 * spent by creating the first admin — there is never a default password.
 */
import { randomToken, safeEqual } from "../lib/crypto.ts";

let setupToken: string | undefined;

export function issueSetupToken(): string {
  setupToken = randomToken(24);
  return setupToken;
}

export function checkSetupToken(given: string | null | undefined): boolean {
  return setupToken !== undefined && typeof given === "string" && safeEqual(given, setupToken);
}

export function spendSetupToken(): void {
  setupToken = undefined;
}

export function setupPending(): boolean {
  return setupToken !== undefined;
}
