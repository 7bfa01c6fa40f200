/** How many instances a deployment should have, and why (one line a person can read). */
export interface Target {
  readonly desired: number;
  readonly reason: string;
}
