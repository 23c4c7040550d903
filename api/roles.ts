// Who may do what: the four roles, and the one table that says which role every /api route needs.
// The guard in auth.ts reads only this table; a route missing from it is refused to all but admins,
// and test/security/api-roles.test.ts fails on any documented operation the table lacks.
export const ROLES = ['admin', 'operator', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/**
 * What a route needs: `read` any role (no answer of a read route carries a secret); `operate`
 * operator or admin (changes, and the answers that hand out agent secrets and enrolment tokens);
 * `audit` auditor or admin; `admin` admin only (tokens, cloud-account writes).
 */
export type Access = 'read' | 'operate' | 'audit' | 'admin';

const GRANTS: Record<Access, readonly Role[]> = {
  read: ['admin', 'operator', 'viewer', 'auditor'],
  operate: ['admin', 'operator'],
  audit: ['admin', 'auditor'],
  admin: ['admin'],
};

export const allows = (role: Role, access: Access): boolean => GRANTS[access].includes(role);

/** The roles that may use a route of this access, for the 403's message. */
export const rolesFor = (access: Access): readonly Role[] => GRANTS[access];

/** Every authenticated route of /api, written the Express way, and the access it needs. */
export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  'GET /api/whoami': 'read',
  'GET /api/events': 'read',
  'GET /api/gateways': 'read',
  'GET /api/gateways/:id': 'read',
  'POST /api/gateways': 'operate',
  'PATCH /api/gateways/:id': 'operate',
  'DELETE /api/gateways/:id': 'operate',
  'POST /api/gateways/:id/secret': 'operate',
  'POST /api/gateways/:id/enrolment-token': 'operate',
  'GET /api/links': 'read',
  'GET /api/links/:id': 'read',
  'GET /api/links/:id/teardown': 'read',
  'POST /api/links': 'operate',
  'POST /api/links/:id/plan': 'operate',
  'PATCH /api/links/:id': 'operate',
  'POST /api/links/:id/rotate-key': 'operate',
  'DELETE /api/links/:id': 'operate',
  'GET /api/cloud-accounts': 'read',
  'GET /api/cloud-accounts/:id': 'read',
  'POST /api/cloud-accounts': 'admin',
  'DELETE /api/cloud-accounts/:id': 'admin',
  'GET /api/tokens': 'admin',
  'POST /api/tokens': 'admin',
  'DELETE /api/tokens/:id': 'admin',
  'GET /api/audit': 'audit',
};

interface Pattern {
  method: string;
  segments: string[];
  access: Access;
}

const PATTERNS: Pattern[] = Object.entries(ROUTE_ACCESS).map(([key, access]) => {
  const [method, path] = key.split(' ') as [string, string];
  return { method, segments: path.split('/'), access };
});

const fits = (pattern: string[], given: string[]): boolean =>
  pattern.length === given.length && pattern.every((part, i) => part.startsWith(':') ? given[i] !== '' : part === given[i]);

/**
 * The access a request needs. HEAD is a GET. A path no route has needs `read` (any valid token
 * then gets the API's 404), and a method no route of the path has needs `admin`: unlisted never
 * means open.
 */
export function accessFor(method: string, path: string): Access {
  const found = routeOf(method, path);
  if (found) return ROUTE_ACCESS[found.route]!;
  const given = path.replace(/\/+$/, '').split('/');
  return PATTERNS.some((p) => fits(p.segments, given)) ? 'admin' : 'read';
}

/** The table's route a request is for ("POST /api/gateways/:id/secret") and its :id, if any. */
export function routeOf(method: string, path: string): { route: string; id?: string } | undefined {
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const given = path.replace(/\/+$/, '').split('/');
  const found = PATTERNS.find((p) => p.method === verb && fits(p.segments, given));
  if (!found) return undefined;
  const at = found.segments.indexOf(':id');
  return { route: `${found.method} ${found.segments.join('/')}`, ...(at >= 0 ? { id: given[at] } : {}) };
}
