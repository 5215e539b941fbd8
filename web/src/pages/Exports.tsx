// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function Exports() {
  return <Empty title="Exports" />;
}
