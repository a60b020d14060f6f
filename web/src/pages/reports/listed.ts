// GET /api/v1/reports: a page of reports as listed (a reporter's own, or
// those within the caller's regions; `ids` picks given ones). Typed here
// from api/src/reports.rs until the committed OpenAPI copy has the endpoint.
import { errorText, me } from '../../api/client';

export type ListedAttachment = { n: number; name: string; content_type: string; size: number; url: string };
export type ReportStatus = 'received' | 'alerted' | 'acknowledged' | 'in_progress' | 'resolved';
export type Listed = {
  id: string;
  receipt: string;
  title?: string | null;
  text: string;
  truncated: boolean;
  region?: string | null;
  regions: string[];
  received_at: string;
  reported_at: string;
  channel: string;
  indicators: { id: string; score: number }[];
  attachments: ListedAttachment[];
  reporter?: { account?: string | null; name?: string | null; contact?: string | null } | null;
  status?: ReportStatus | null;
};
export type ReportList = { total: number; reports: Listed[]; names: Record<string, string> };

/** The list, or throws the words to show. */
export async function listReports(query: { ids?: string; limit?: number; offset?: number }): Promise<ReportList> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  let response: Response;
  try {
    response = await fetch(`/api/v1/reports?${q}`, { credentials: 'same-origin' });
  } catch {
    throw errorText(null);
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) me.value = null;
  if (!response.ok || !body) throw errorText(body, response.status);
  return body as ReportList;
}
