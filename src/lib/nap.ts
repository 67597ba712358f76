/** A sleep that another part of the program can cut short: background loops nap between rounds and are woken when work arrives. */
export type Nap = { sleep(ms: number): Promise<void>; wake(): void };

export function nap(): Nap {
  let wakeUp: (() => void) | null = null;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wakeUp = null;
          resolve();
        }, ms);
        wakeUp = () => {
          clearTimeout(t);
          wakeUp = null;
          resolve();
        };
      }),
    wake: () => wakeUp?.(),
  };
}
