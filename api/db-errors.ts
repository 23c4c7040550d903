// Prisma error codes by duck typing: the SQLite and PostgreSQL clients are generated separately,
// so their error classes are not the same object.
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}
