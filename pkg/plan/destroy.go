package plan

import (
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// KindRemoveVolume removes a client's data volume. The planner emits it only
// for a client that has left fleet.yaml and that Options.DeleteData names
// (fleetctl destroy --delete-data, once the client's name was typed and a
// fresh backup verified): a volume is never removed otherwise.
const KindRemoveVolume Kind = "remove-volume"

// DataWillBeDeleted starts the cause of every remove-volume action.
const DataWillBeDeleted = "DATA WILL BE DELETED"

// deleteData adds the removal of each DeleteData client's volume, after
// every container of the client is gone (they may still mount it).
func (b *builder) deleteData() {
	for _, name := range b.opt.DeleteData {
		switch {
		case b.spec.Client(name) != nil:
			b.plan.Warnings = append(b.plan.Warnings, "client "+name+" is in fleet.yaml: its volume is kept")
			continue
		case !b.targeted(name):
			continue
		}
		vol := b.orphanVolume(name)
		if vol == "" {
			b.plan.Warnings = append(b.plan.Warnings, "client "+name+": no volume labelled with fleet "+b.spec.Fleet+" to delete (an adopted volume keeps no labels: remove it by hand)")
			continue
		}
		a := Action{
			ID: "volume." + name + "#delete", Kind: KindRemoveVolume, Client: name, Object: vol,
			Causes: []string{DataWillBeDeleted + ": the volume and everything in it (fleetctl destroy --delete-data)"},
			Before: map[string]any{"name": vol},
		}
		for i := range b.plan.Actions {
			c := &b.plan.Actions[i]
			if c.Kind == KindRemoveContainer && c.Client == name {
				a.DependsOn = append(a.DependsOn, c.ID)
				for j, cause := range c.Causes {
					c.Causes[j] = strings.Replace(cause, "volume "+vol+" is kept", "volume "+vol+" is deleted next (--delete-data)", 1)
				}
			}
		}
		for _, ctr := range b.byVolume[vol] {
			if !observe.Managed(ctr.Labels, b.spec.Fleet) || ctr.Labels[observe.LabelClient] != name {
				b.conflict(name, vol, "volume %s is mounted by container %s, which is not the client's: not deleted", vol, ctr.Name)
				a.ID = ""
			}
		}
		if a.ID != "" {
			b.plan.Actions = append(b.plan.Actions, a)
		}
	}
}

// volumeFate completes a remove-container line: the volume is kept unless
// the plan deletes it next.
func volumeFate(a *Action) string {
	if strings.HasPrefix(a.ID, "sync-node.") {
		return " (a sync node: the sync target's role, schemas and data are kept)"
	}
	for _, c := range a.Causes {
		if strings.Contains(c, "(--delete-data)") {
			return " (its volume is deleted next)"
		}
	}
	return " (volume kept)"
}
