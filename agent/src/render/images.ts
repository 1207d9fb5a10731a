import type { ImageOverride } from './classify.js';

/** `reg.example.com:5000/web:1.25@sha256:…` → name `reg.example.com:5000/web`, tag `1.25`, digest `sha256:…`. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    tag: hasTag ? rest.slice(colon + 1) : undefined,
    digest,
  };
}

function applyOverride(image: string, override: ImageOverride): string {
  const parsed = parseImage(image);
  let result = override.newName ?? parsed.name;
  if (override.digest) return `${result}@${override.digest}`;
  const tag = override.newTag ?? parsed.tag;
  if (tag) result += `:${tag}`;
  if (!override.newTag && parsed.digest) result += `@${parsed.digest}`;
  return result;
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * Rewrites, anywhere in `object`, the image of containers whose image name equals `override.name`
 * (Pods, Deployments, CronJobs, custom resources alike). Returns how many containers changed.
 */
export function overrideImages(object: unknown, override: ImageOverride): number {
  let count = 0;
  const visit = (value: unknown, key: string | undefined) => {
    if (Array.isArray(value)) {
      for (const item of value) {
        const container = item as { image?: unknown } | null;
        if (key && CONTAINER_LISTS.has(key) && typeof container?.image === 'string') {
          if (parseImage(container.image).name === override.name) {
            container.image = applyOverride(container.image, override);
            count++;
          }
        }
        visit(item, undefined);
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(object, undefined);
  return count;
}
