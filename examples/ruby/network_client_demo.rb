# Loopback only: a TCP connect to a listener this script opens, a DNS
# query to a UDP listener it runs on 127.0.0.1, and odd socket attempts.
# Run: ruby -I ext/ruby/lib -I .output/ruby examples/ruby/network_client_demo.rb
#
# dns_req is recorded for messages to port 53, which only root may bind;
# VIVARIUM_DEMO_DNS_PORT picks another port (then no dns_req is recorded).

require "resolv"
require "socket"
require "vivarium"

# Answers every query with "no such name" (RCODE 3), so the resolver
# returns at once instead of timing out.
def start_dns_listener
  want = Integer(ENV.fetch("VIVARIUM_DEMO_DNS_PORT", "53"))
  sock = UDPSocket.new
  begin
    sock.bind("127.0.0.1", want)
  rescue Errno::EACCES, Errno::EADDRINUSE => e
    sock.bind("127.0.0.1", 0)
    warn "dns listener: port #{want}: #{e.message}; using " \
         "#{sock.addr[1]}, so no dns_req will be recorded"
  end
  Thread.new do
    loop do
      msg, from = sock.recvfrom(512)
      reply = msg.dup.b
      reply.setbyte(2, reply.getbyte(2) | 0x80)
      reply.setbyte(3, (reply.getbyte(3) & 0xf0) | 3)
      sock.send(reply, 0, from[3], from[1])
    end
  end
  sock.addr[1]
end

def connect_to_server(port)
  TCPSocket.new("127.0.0.1", port).close
end

def resolve_name(dns_port)
  dns = Resolv::DNS.new(nameserver_port: [["127.0.0.1", dns_port]])
  dns.timeouts = 1
  dns.getaddress("vivarium-demo.example")
rescue Resolv::ResolvError
  nil
ensure
  dns&.close
end

# Raw and packet sockets are odd_socket; without CAP_NET_RAW the attempt
# fails and is recorded with its error.
def open_odd_sockets
  [[:INET, :RAW, Socket::IPPROTO_ICMP], [:PACKET, :RAW, 0]].each do |args|
    Socket.new(*args).close
  rescue SystemCallError
    nil
  end
end

server = TCPServer.new("127.0.0.1", 0)
dns_port = start_dns_listener

Vivarium.observe do
  connect_to_server(server.addr[1])
  resolve_name(dns_port)
  open_odd_sockets
end
server.close
