/** `strata plan` */
export default async function plan(_argv: string[]): Promise<number> {
  process.stderr.write('strata plan: not built yet\n');
  return 1;
}
