/** `strata apply` */
export default async function apply(_argv: string[]): Promise<number> {
  process.stderr.write('strata apply: not built yet\n');
  return 1;
}
