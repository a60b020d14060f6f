// Placeholder until its owner fills it in.
export default function Page(props: Record<string, string>) {
  return <p>{'trends'} {JSON.stringify(props)}</p>;
}
