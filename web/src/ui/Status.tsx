// Loading and error states, said the same way everywhere.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function ErrorNote({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{err(error)}</strong> {messageOf(error)}
      {children}
    </div>
  );
}

function err(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 409) return 'Refused:';
    if (error.status === 400) return 'Not valid:';
    if (error.status === 404) return 'Not found:';
    if (error.status === 0) return 'Offline:';
  }
  return 'Error:';
}
