// Loading and error states, said the same way everywhere.
import { useEffect, useRef, type ReactNode } from 'react';
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
  const ref = useRef<HTMLDivElement>(null);
  // A button that disabled itself while its request ran has dropped the focus: it lands here, so
  // the keyboard stays inside the dialog and next to the message.
  useEffect(() => {
    if (error && (document.activeElement === document.body || document.activeElement === null)) ref.current?.focus();
  }, [error]);
  if (!error) return null;
  return (
    <div className="error" role="alert" tabIndex={-1} ref={ref}>
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
