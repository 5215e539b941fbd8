// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function Live() {
  return <Empty title="Live" />;
}
