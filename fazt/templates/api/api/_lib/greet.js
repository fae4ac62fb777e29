// Shared code: files and folders starting with "_" are imported, never routed.
export function greet(name) {
  return `Hello, ${name || "world"}!`;
}
