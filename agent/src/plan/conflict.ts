import type { KubeApiError } from '../kube/errors.js';
import type { FieldConflict } from './types.js';

const MANAGER = /conflict with "([^"]+)"/;

/** The fields and managers of a 409 from a non-forced server-side apply. */
export function conflictsOf(err: KubeApiError): FieldConflict[] {
  const fromCauses = err.causes
    .filter((c) => c.reason === 'FieldManagerConflict' || c.field)
    .map((c) => ({
      field: c.field ?? '',
      manager: MANAGER.exec(c.message ?? '')?.[1] ?? 'unknown',
      message: c.message ?? '',
    }));
  if (fromCauses.length > 0) return fromCauses;
  return [{ field: '', manager: MANAGER.exec(err.message)?.[1] ?? 'unknown', message: err.message }];
}
