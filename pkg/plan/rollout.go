package plan

import (
	"fmt"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Image rollouts, rollback labels and requested restarts: the day-2 policy of
// the planner. A changed image on several clients is not a set of parallel
// recreates but a rollout: the spec's rollout.canary clients are replaced
// first, one after the other; the others depend on the last canary and run at
// most rollout.maxParallel at a time; the executor starts no further member
// once one has failed (that one is rolled back by the usual recreate), and
// the members it did not start keep their old image.

// KindRestartContainer restarts a running client's container (stop, start,
// health gate) without changing it: fleetctl restart.
const KindRestartContainer Kind = "restart-container"

// Labels that record what a container replaced, so rollback knows where to go.
const (
	// LabelPreviousImage is the ID of the image the container's predecessor ran.
	LabelPreviousImage = "io.fleetctl.previous-image"
	// LabelPreviousImageRef is the reference that predecessor was created from.
	LabelPreviousImageRef = "io.fleetctl.previous-image-ref"
)

// Rollout is one image reaching several clients. Members are action ids in
// fleet.yaml order, the canaries first.
type Rollout struct {
	ID          string   `json:"id"`
	Image       string   `json:"image"`
	Canary      []string `json:"canary"`
	Members     []string `json:"members"`
	MaxParallel int      `json:"maxParallel"`
}

// day2 runs after every client is planned: it stamps rollback labels, groups
// image changes into rollouts and adds requested restarts.
func (b *builder) day2() {
	byID := make(map[string]int, len(b.plan.Actions))
	for i := range b.plan.Actions {
		byID[b.plan.Actions[i].ID] = i
	}
	groups := map[string]*Rollout{}
	var order []string
	held := b.heldImages()
	var drop map[string]bool
	for ci := range b.spec.Clients {
		c := &b.spec.Clients[ci]
		i, ok := byID["container."+c.Name]
		if !ok {
			continue
		}
		a := &b.plan.Actions[i]
		if a.Kind != KindRecreateContainer || a.Container == nil || a.ExistingMatches {
			continue
		}
		primary := b.containers[a.Object]
		if primary == nil {
			continue
		}
		if !b.stampPrevious(c, a, primary) || (len(a.Causes) > 0 && strings.HasPrefix(a.Causes[0], "adopt ")) {
			continue
		}
		if who, ok := held[c.Image]; ok {
			// A member failed this image and backs off (watch): another
			// client must not become the next canary of the same image.
			if drop == nil {
				drop = map[string]bool{}
			}
			drop[a.ID] = true
			b.plan.Warnings = append(b.plan.Warnings, "client "+c.Name+": rollout of "+c.Image+" held: client "+who+" failed it and is backing off")
			continue
		}
		r := groups[c.Image]
		if r == nil {
			r = &Rollout{ID: "rollout." + c.Image, Image: c.Image, MaxParallel: b.maxParallel()}
			groups[c.Image] = r
			order = append(order, c.Image)
		}
		r.Members = append(r.Members, a.ID)
	}
	for _, img := range order {
		r := groups[img]
		if len(r.Members) < 2 {
			continue // one client: a plain recreate
		}
		n := min(b.canaries(), len(r.Members)-1)
		r.Canary = r.Members[:n]
		for k, id := range r.Members {
			a := &b.plan.Actions[byID[id]]
			a.Rollout = r.ID
			switch {
			case k > 0 && k <= n-1: // canaries go one after the other
				a.DependsOn = append(a.DependsOn, r.Members[k-1])
			case k >= n && n > 0:
				a.DependsOn = append(a.DependsOn, r.Members[n-1])
			}
		}
		b.plan.Rollouts = append(b.plan.Rollouts, *r)
	}
	if drop != nil {
		kept := b.plan.Actions[:0]
		for _, a := range b.plan.Actions {
			if !drop[a.ID] {
				kept = append(kept, a)
			}
		}
		b.plan.Actions = kept
		byID = make(map[string]int, len(kept))
		for i := range kept {
			byID[kept[i].ID] = i
		}
	}
	b.restarts(byID)
}

// heldImages maps each image that an excluded client (backing off after a
// failure) is still to receive to that client.
func (b *builder) heldImages() map[string]string {
	held := map[string]string{}
	for i := range b.spec.Clients {
		c := &b.spec.Clients[i]
		if !b.excluded[c.Name] {
			continue
		}
		ctr := b.containers[b.spec.ContainerName(c)]
		if ctr == nil || !b.owns(ctr, c.Name) {
			continue
		}
		if cfg := parseConfig(ctr.Labels); cfg != nil && cfg.Image != c.Image {
			held[c.Image] = c.Name
		}
	}
	return held
}

func (b *builder) canaries() int {
	if r := b.spec.Rollout; r != nil && r.Canary != nil {
		return *r.Canary
	}
	return fleet.DefaultCanary
}

func (b *builder) maxParallel() int {
	if r := b.spec.Rollout; r != nil && r.MaxParallel > 0 {
		return r.MaxParallel
	}
	return fleet.DefaultMaxParallel
}

// stampPrevious records on the replacement which image it replaces, and
// reports whether the image changes. A recreate that keeps the image carries
// the record forward, so rollback still knows the image before the last
// rollout.
func (b *builder) stampPrevious(c *fleet.Client, a *Action, primary *observe.Container) bool {
	oldRef := primary.Image
	if cfg := parseConfig(primary.Labels); cfg != nil && cfg.Image != "" {
		oldRef = cfg.Image
	}
	newID := b.st.Images[c.Image]
	changed := oldRef != c.Image || (newID != "" && primary.ImageID != "" && newID != primary.ImageID)
	if changed && primary.ImageID != "" {
		a.Container.Labels[LabelPreviousImage] = primary.ImageID
		a.Container.Labels[LabelPreviousImageRef] = oldRef
	} else if id := primary.Labels[LabelPreviousImage]; id != "" {
		a.Container.Labels[LabelPreviousImage] = id
		a.Container.Labels[LabelPreviousImageRef] = primary.Labels[LabelPreviousImageRef]
	}
	return changed
}

// restarts adds a restart of each client named in Options.Restart whose
// container runs and has no other action (a replacement restarts it anyway).
func (b *builder) restarts(byID map[string]int) {
	for _, name := range b.opt.Restart {
		c := b.spec.Client(name)
		if c == nil || !b.targeted(name) {
			continue
		}
		if _, planned := byID["container."+name]; planned {
			continue
		}
		d := renderClient(b.spec, c, b.secrets)
		primary := b.containers[d.Container.Name]
		switch {
		case c.State == fleet.StateStopped:
			b.plan.Warnings = append(b.plan.Warnings, "client "+name+" is stopped in fleet.yaml: not restarted (fleetctl start starts it)")
			continue
		case primary == nil || !b.owns(primary, name) || !primary.Running():
			continue // the client's own plan (create, start, conflict) says why
		}
		ctr := d.Container
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: "container." + name, Kind: KindRestartContainer, Client: name, Object: ctr.Name,
			Causes: []string{"restart requested (fleetctl restart)"}, ExistingID: primary.ID,
			Container: &ctr, Start: true, Before: observedView(primary), After: observedView(primary),
		})
	}
}

// RollbackImage is the image a rollback of the client's container returns
// to: the reference it replaced while that reference still names the same
// image, else an error saying what to do (the tag has moved on).
func RollbackImage(ctr *observe.Container, images map[string]string) (string, error) {
	id, ref := ctr.Labels[LabelPreviousImage], ctr.Labels[LabelPreviousImageRef]
	switch {
	case id == "" || ref == "":
		return "", fmt.Errorf("container %s records no previous image (it was not created by an image change)", ctr.Name)
	case images[ref] == id:
		return ref, nil
	case images[ref] == "":
		return "", fmt.Errorf("container %s replaced %s (%s), which is no longer present locally", ctr.Name, ref, shortID(id))
	}
	return "", fmt.Errorf("container %s replaced %s as image %s, but that tag now names %s; tag the old image (docker tag %s NAME:TAG) and set the client's image to it",
		ctr.Name, ref, shortID(id), shortID(images[ref]), shortID(id))
}

func (t *textWriter) rollouts(rs []Rollout) {
	for _, r := range rs {
		rest := len(r.Members) - len(r.Canary)
		t.printf("Rollout of %s to %d clients: ", r.Image, len(r.Members))
		if len(r.Canary) > 0 {
			t.printf("canary %s first, then ", clientsOf(r.Canary))
		}
		t.printf("the other %d, at most %d at a time; the first failure stops it (that client is rolled back, the rest keep their image).\n\n", rest, r.MaxParallel)
	}
}

func clientsOf(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.TrimPrefix(id, "container.")
	}
	return strings.Join(out, ", ")
}
