import { useEffect, useRef, useState, type RefObject, type UIEvent } from 'react';

/**
 * The rows of a long list that are in (or near) view: only those are rendered, so a list of 200 000 events
 * scrolls like one of 20. A new `rows` (a filter changed) starts at the top.
 */
export function useVirtualWindow(
  rows: readonly unknown[],
  rowHeight: number,
  overscan: number,
  initialHeight: number,
): { viewport: RefObject<HTMLDivElement | null>; onScroll: (e: UIEvent<HTMLDivElement>) => void; first: number; last: number } {
  const viewport = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(initialHeight);
  useEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    viewport.current?.scrollTo({ top: 0 });
    setScroll(0);
  }, [rows]);
  const first = Math.max(0, Math.floor(scroll / rowHeight) - overscan);
  const last = Math.min(rows.length, Math.ceil((scroll + height) / rowHeight) + overscan);
  return { viewport, onScroll: (e) => setScroll(e.currentTarget.scrollTop), first, last };
}
