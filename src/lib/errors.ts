/** The one error type that crosses a boundary: it becomes `{"error":{code,message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, string>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: Record<string, string>) =>
  new ApiError(400, "bad_request", message, details);
export const invalid = (message: string, details?: Record<string, string>) =>
  new ApiError(422, "invalid", message, details);
export const unauthorized = (message = "Authentication required.") => new ApiError(401, "unauthorized", message);
export const forbidden = (message = "You do not have permission to do that.") => new ApiError(403, "forbidden", message);
export const notFound = (what = "Resource") => new ApiError(404, "not_found", `${what} not found.`);
export const conflict = (message: string, details?: Record<string, string>) => new ApiError(409, "conflict", message, details);
export const tooLarge = (message: string) => new ApiError(413, "too_large", message);
export const tooManyRequests = (retryAfterSeconds: number, message = "Too many requests; try again later.") =>
  new ApiError(429, "rate_limited", message, undefined, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export function errorBody(e: ApiError): { error: { code: string; message: string; details?: Record<string, string> } } {
  return { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
}
