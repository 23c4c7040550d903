// The routes an Express 5 app really has: its router stacks walked, mounted routers followed with
// their mount paths (router 2 keeps a layer's path as rawPath).
import type express from 'express';

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

const join = (prefix: string, path: string): string => `${prefix}${path === '/' ? '' : path}` || '/';

/** "METHOD /path" for every route, mounted routers included; a RegExp path as its source. */
export function expressRoutes(app: express.Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        const path = typeof layer.route.path === 'string' ? join(prefix, layer.route.path) : `${prefix}${String(layer.route.path)}`;
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') found.push(`${method.toUpperCase()} ${path}`);
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack, typeof layer.rawPath === 'string' ? join(prefix, layer.rawPath) : `${prefix}${String(layer.rawPath)}`);
      }
    }
  };
  walk((app.router as unknown as { stack: Layer[] }).stack, '');
  return found;
}
