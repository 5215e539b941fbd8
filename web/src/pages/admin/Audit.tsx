// Placeholder until the page lands.
import { Empty } from '../../components/ui';

export default function Audit() {
  return <Empty title="Audit" />;
}
