# The Ruby host: a C extension linking libvivarium.a, and its tests.
# Included from the top Makefile, whose variables it uses.
#
#   make ruby         build $(OUTPUT)/ruby/vivarium/vivarium_ext.so
#   make test-ruby    (root) the Ruby specs, on the running kernel
#
# Run a script with it from the tree:
#   ruby -I ext/ruby/lib -I $(OUTPUT)/ruby script.rb

RUBY ?= ruby

RUBY_EXT := $(OUTPUT)/ruby/vivarium/vivarium_ext.so
RUBY_LIB_SRCS := $(shell find ext/ruby/lib -name '*.rb' 2>/dev/null)

# Asked of the interpreter that will load the extension, so its headers
# and libruby match; empty when Ruby is missing, and only `ruby` fails.
RUBY_CFLAGS = $(shell $(RUBY) -rrbconfig -e 'c = RbConfig::CONFIG; \
	print "-I#{c["rubyhdrdir"]} -I#{c["rubyarchhdrdir"]}"' 2>/dev/null)
RUBY_LDFLAGS = $(shell $(RUBY) -rrbconfig -e 'c = RbConfig::CONFIG; \
	print "-L#{c["libdir"]} #{c["LIBRUBYARG_SHARED"]}"' 2>/dev/null)

.PHONY: ruby test-ruby

ruby: $(RUBY_EXT)

$(OUTPUT)/ruby/vivarium:
	$(Q)mkdir -p $@

# Only Init_vivarium_ext is exported: libvivarium's symbols stay inside.
$(RUBY_EXT): ext/ruby/vivarium_ext.c lib/vivarium.h bpf/viv_event.h $(LIBVIV) \
		| $(OUTPUT)/ruby/vivarium
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(RUBY_CFLAGS) -fvisibility=hidden -shared \
		-Wl,--no-undefined -Wl,--exclude-libs,ALL -o $@ $< $(LIBVIV) $(LIBS) \
		$(RUBY_LDFLAGS) -lpthread

test-ruby: $(RUBY_EXT) $(VIVARIUM)
	$(Q)VIVARIUM=$(CURDIR)/$(VIVARIUM) VIVARIUM_RUBY_EXT_DIR=$(CURDIR)/$(OUTPUT)/ruby \
		$(RUBY) -I ext/ruby/lib -I $(OUTPUT)/ruby spec/ruby/run.rb
