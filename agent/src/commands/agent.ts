/** `strata agent` */
export default async function agent(_argv: string[]): Promise<number> {
  process.stderr.write('strata agent: not built yet\n');
  return 1;
}
