// Periods and deadlines as the API counts them (duties/src/period.rs): a
// period is the filer's own day, ISO week, month or election stage, and the
// deadline is a local time `days_after` the period's last day, in the
// filer's zone (WIB, WITA, WIT).
import type { Schemas } from '../../api/client';
import { locale } from '../../i18n';
import { zoneOf, type Zone } from '../../lib/regions';

export type Schedule = Schemas['TemplateSchedule'];

const HOURS: Record<Zone, number> = { WIB: 7, WITA: 8, WIT: 9 };
const DAY = 86_400_000;

/** The day (`2026-11-30`) it is at `now` in the region's zone. */
export function localDay(region: string, now = new Date()): string {
  return new Date(now.getTime() + HOURS[zoneOf(region)] * 3_600_000).toISOString().slice(0, 10);
}

/** `2026-W48` for a day. */
export function isoWeek(day: string): string {
  const d = new Date(day + 'T00:00:00Z');
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(d.getTime() + (3 - weekday) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The last day of a period, or null when the text is not one. */
export function lastDay(schedule: Schedule, period: string): string | null {
  switch (schedule.every) {
    case 'daily':
      return /^\d{4}-\d{2}-\d{2}$/.test(period) ? period : null;
    case 'weekly': {
      const m = /^(\d{4})-W(\d{2})$/.exec(period);
      if (!m) return null;
      const jan4 = Date.UTC(Number(m[1]), 0, 4);
      const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY + (Number(m[2]) - 1) * 7 * DAY;
      return new Date(monday + 6 * DAY).toISOString().slice(0, 10);
    }
    case 'monthly': {
      const m = /^(\d{4})-(\d{2})$/.exec(period);
      return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).toISOString().slice(0, 10) : null;
    }
    default:
      return schedule.stages?.find((s) => s.id === period)?.due ?? null;
  }
}

const minutesOf = (at: string | undefined) => {
  const [h, m] = (at || '24:00').split(':').map(Number);
  return h * 60 + m;
};

/** The deadline of a period for a filer in `region`. */
export function deadline(schedule: Schedule, period: string, region: string): Date | null {
  const last = lastDay(schedule, period);
  if (!last) return null;
  const start = Date.parse(last + 'T00:00:00Z') - HOURS[zoneOf(region)] * 3_600_000;
  return new Date(start + (schedule.days_after ?? 0) * DAY + minutesOf(schedule.at) * 60_000);
}

/** The period a filer in `region` files now: today's, this week's, this
 * month's, or the first stage whose deadline has not passed (else the last). */
export function currentPeriod(schedule: Schedule, region: string, now = new Date()): string {
  const day = localDay(region, now);
  if (schedule.every === 'daily') return day;
  if (schedule.every === 'weekly') return isoWeek(day);
  if (schedule.every === 'monthly') return day.slice(0, 7);
  const stages = schedule.stages ?? [];
  const open = stages.find((s) => (deadline(schedule, s.id, region)?.getTime() ?? 0) >= now.getTime());
  return (open ?? stages[stages.length - 1])?.id ?? '';
}

/** "Senin, 30 November 2026", "minggu 48, 2026", "November 2026" or the stage's name. */
export function periodName(schedule: Schedule, period: string, weekWord: string): string {
  if (schedule.every === 'daily' && lastDay(schedule, period)) {
    return new Date(period + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  }
  if (schedule.every === 'weekly') {
    const m = /^(\d{4})-W(\d{2})$/.exec(period);
    return m ? `${weekWord} ${Number(m[2])}, ${m[1]}` : period;
  }
  if (schedule.every === 'monthly' && lastDay(schedule, period)) {
    return new Date(period + '-01T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', month: 'long', year: 'numeric' });
  }
  return schedule.stages?.find((s) => s.id === period)?.name ?? period;
}

/** A deadline in the filer's zone: "30 Nov 2026 pukul 24.00 WITA" (the end
 * of the day is said as 24.00 of that day, not 00.00 of the next). */
export function deadlineText(schedule: Schedule, period: string, region: string): string {
  const last = lastDay(schedule, period);
  if (!last) return '';
  const minutes = minutesOf(schedule.at);
  const dayMs = Date.parse(last + 'T00:00:00Z') + (schedule.days_after ?? 0) * DAY;
  const dayText = new Date(dayMs).toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${dayText} ${hh}.${mm} ${zoneOf(region)}`;
}
