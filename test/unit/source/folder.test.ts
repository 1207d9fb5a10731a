import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderTree } from '../../../agent/src/source/folder.js';

function repo() {
  const root = mkdtempSync(join(tmpdir(), 'strata-folder-'));
  const outside = mkdtempSync(join(tmpdir(), 'strata-outside-'));
  writeFileSync(join(outside, 'secret.yaml'), 'secret: true\n');
  mkdirSync(join(root, 'global/sub'), { recursive: true });
  writeFileSync(join(root, 'global/a.yaml'), 'a: 1\n');
  symlinkSync('a.yaml', join(root, 'global/inside.yaml'));
  symlinkSync(join(outside, 'secret.yaml'), join(root, 'global/escape.yaml'));
  symlinkSync(outside, join(root, 'escaped-dir'));
  return root;
}

describe('FolderTree', () => {
  it('lists entries with their types and sizes', async () => {
    const entries = await new FolderTree(repo()).list('global');
    expect(entries?.map((e) => `${e.path}:${e.type}:${e.size ?? ''}`).sort()).toEqual([
      'global/a.yaml:file:5',
      'global/escape.yaml:symlink:',
      'global/inside.yaml:symlink:',
      'global/sub:dir:',
    ]);
  });

  it('returns undefined for a missing folder or a file', async () => {
    const tree = new FolderTree(repo());
    expect(await tree.list('nope')).toBeUndefined();
    expect(await tree.list('global/a.yaml')).toBeUndefined();
  });

  it('reads a file and a symlink that stays inside', async () => {
    const tree = new FolderTree(repo());
    expect(new TextDecoder().decode(await tree.read('global/inside.yaml', 100))).toBe('a: 1\n');
    expect(await tree.readLink('global/inside.yaml')).toBe('a.yaml');
  });

  it('refuses to read through a symlink that leaves the repository', async () => {
    const tree = new FolderTree(repo());
    await expect(tree.read('global/escape.yaml', 100)).rejects.toThrow(/outside the repository/);
    await expect(tree.list('escaped-dir')).rejects.toThrow(/outside the repository/);
    await expect(tree.read('escaped-dir/secret.yaml', 100)).rejects.toThrow(/outside the repository/);
  });

  it('refuses .. and absolute paths', async () => {
    const tree = new FolderTree(repo());
    await expect(tree.read('../etc/passwd', 100)).rejects.toThrow(/invalid repository path/);
    await expect(tree.list('/etc')).rejects.toThrow(/invalid repository path/);
  });

  it('refuses a file over the size limit before reading it', async () => {
    await expect(new FolderTree(repo()).read('global/a.yaml', 4)).rejects.toThrow(/over the 4-byte limit/);
  });
});
