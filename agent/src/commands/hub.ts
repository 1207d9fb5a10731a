/** `strata hub` */
export default async function hub(_argv: string[]): Promise<number> {
  process.stderr.write('strata hub: not built yet\n');
  return 1;
}
