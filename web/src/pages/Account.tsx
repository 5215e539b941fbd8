// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function Account() {
  return <Empty title="Account" />;
}
