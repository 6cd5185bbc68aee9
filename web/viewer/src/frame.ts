// Work for the next animation frame.

/**
 * A function that runs fn at the next animation frame, once however many times it is called
 * before then: for what a burst of events (images loading, pointer moves) would otherwise redo
 * for each one.
 */
export function perFrame(fn: () => void): () => void {
  let requested = false;
  return () => {
    if (requested) return;
    requested = true;
    requestAnimationFrame(() => {
      requested = false;
      fn();
    });
  };
}
