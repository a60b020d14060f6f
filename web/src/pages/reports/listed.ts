// GET /api/v1/reports: a page of reports as listed (a reporter's own, or
// those within the caller's regions; `ids` picks given ones).
import { api, errorText, type Schemas } from '../../api/client';

export type Listed = Schemas['ListedReport'];

/** The list, or throws the words to show. */
export async function listReports(query: { ids?: string; limit?: number; offset?: number }) {
  try {
    const { data, error, response } = await api.GET('/api/v1/reports', { params: { query } });
    if (response.ok && data) return data;
    throw errorText(error, response.status);
  } catch (e) {
    throw typeof e === 'string' ? e : errorText(null);
  }
}
