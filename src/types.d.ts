// Module declarations for files Bun imports as text or as embedded file paths.
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.so" {
  const path: string;
  export default path;
}
