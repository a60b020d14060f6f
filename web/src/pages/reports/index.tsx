// Placeholder until its owner fills it in.
export default function Page(props: Record<string, string>) {
  return <p>{'reports'} {JSON.stringify(props)}</p>;
}
