// A dialog that asks before one action (delete, revoke, rotate): its text, the action's error in
// place, the action button, and Cancel, which has the focus (Enter never confirms by accident).
import { useState, type ReactNode } from 'react';
import { Dialog } from './Dialog';
import { ErrorNote } from './Status';

export function ConfirmDialog({
  label,
  title,
  confirm,
  busyLabel,
  kind = 'danger',
  onConfirm,
  onClose,
  children,
}: {
  label: string;
  title?: ReactNode;
  /** The action button's text. */
  confirm: string;
  /** Its text while the action runs (default: unchanged). */
  busyLabel?: string;
  kind?: 'danger' | 'primary';
  /** The action; a rejection is shown in the dialog, which stays open for another try. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog label={label} title={title} onClose={onClose}>
      {children}
      <ErrorNote error={error} />
      <div className="actions">
        <button type="button" className={kind} onClick={() => void run()} disabled={busy}>
          {busy && busyLabel ? busyLabel : confirm}
        </button>
        <button type="button" onClick={onClose} data-autofocus>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
