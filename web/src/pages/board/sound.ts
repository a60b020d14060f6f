// A short two-tone chime for a new awas alert, made with the Web Audio API
// (no media file to download or cache).
let ctx: AudioContext | null = null;

/** Plays the chime; the browser may hold sound back until the person has
 * used the page (autoplay rules), which changes nothing else. */
export function chime() {
  try {
    ctx ??= new AudioContext();
    void ctx.resume();
    const start = ctx.currentTime + 0.02;
    [880, 660, 880].forEach((hz, i) => {
      const osc = ctx!.createOscillator();
      const gain = ctx!.createGain();
      osc.type = 'square';
      osc.frequency.value = hz;
      const t = start + i * 0.2;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
      osc.connect(gain).connect(ctx!.destination);
      osc.start(t);
      osc.stop(t + 0.19);
    });
    (window as { kentonganChimes?: number }).kentonganChimes =
      ((window as { kentonganChimes?: number }).kentonganChimes ?? 0) + 1;
  } catch {
    // no audio on this device: the banner is the cue
  }
}
