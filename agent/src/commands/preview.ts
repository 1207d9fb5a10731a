/** `strata preview` */
export default async function preview(_argv: string[]): Promise<number> {
  process.stderr.write('strata preview: not built yet\n');
  return 1;
}
