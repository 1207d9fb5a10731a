/** `strata render` */
export default async function render(_argv: string[]): Promise<number> {
  process.stderr.write('strata render: not built yet\n');
  return 1;
}
